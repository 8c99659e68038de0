namespace Unbundled.Tests.Services;

/// <summary>Whether a Docker engine is reachable, so that Testcontainers can start real servers for the tests.</summary>
internal static class DockerEngine
{
    /// <summary>True when <c>DOCKER_HOST</c> names one or the default socket exists.</summary>
    public static bool IsReachable =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || File.Exists("/var/run/docker.sock");
}
