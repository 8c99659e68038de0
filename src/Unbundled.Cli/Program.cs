using System.CommandLine;
using Unbundled.Cli.Verbs;

var root = new RootCommand("Unbundled: a command log as the source of truth, and derived views declared in pipelines.yaml.")
{
    RunVerb.Create(),
    ValidateVerb.Create(),
    StatusVerb.Create(),
    RebuildVerb.Create(),
    FollowVerb.Create(),
    HashKeyVerb.Create(),
    DeadLettersVerb.Create(),
    PipeVerb.Create(),
};
return await root.Parse(args).InvokeAsync();
