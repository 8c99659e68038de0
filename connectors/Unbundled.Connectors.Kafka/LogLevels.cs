using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Unbundled.Connectors.Kafka;

/// <summary>librdkafka's syslog levels as .NET log levels.</summary>
internal static class LogLevels
{
    /// <summary>The level of <paramref name="message"/>; librdkafka's notices and below are logged at <paramref name="quiet"/>.</summary>
    public static LogLevel LevelAs(this LogMessage message, LogLevel quiet) => message.Level switch
    {
        SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
        SyslogLevel.Warning => LogLevel.Warning,
        _ => quiet,
    };
}
