namespace Unbundled.Connectors.Kafka;

/// <summary>Kafka's rule for topic names, checked before a broker would refuse them.</summary>
internal static class TopicName
{
    /// <summary>The rule, as a message.</summary>
    public const string Rule = "a Kafka topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ -";

    /// <summary>True when Kafka accepts <paramref name="name"/> as a topic.</summary>
    public static bool IsValid(string name) =>
        name.Length is > 0 and < 250 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary><paramref name="name"/> with every character a topic may not hold replaced by '_'.</summary>
    public static string Sanitize(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());
}
