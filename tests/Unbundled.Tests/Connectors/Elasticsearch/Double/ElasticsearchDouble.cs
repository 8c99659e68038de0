using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// A strict in-process stand-in for the part of the Elasticsearch 9 REST API the connector uses,
/// written from Elastic's reference and refusing and delaying what Elasticsearch refuses and delays:
/// near-real-time search, whole-request bulk validation, dynamic and explicit mappings, index settings,
/// search limits, aliases over several indices, gc_deletes on a controllable clock, request- and
/// item-level 429, the official client's vendored media types and ping, and, when asked, several
/// nodes of one cluster, TLS and required credentials. Its own tests pin every rule; it is no
/// substitute for the real-cluster run that ELASTICSEARCH_URL enables.
/// </summary>
public sealed partial class ElasticsearchDouble : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IndexState> _indices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AliasTargets> _aliases = new(StringComparer.Ordinal);
    private TimeSpan _clockOffset;

    private ElasticsearchDouble(WebApplication app) => _app = app;

    /// <summary>The double's base URL (its first node's).</summary>
    public string Url => Urls[0];

    /// <summary>The base URL of each node; every node answers from the same cluster state.</summary>
    public IReadOnlyList<string> Urls => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();

    /// <summary>Makes the next bulk items answer 429, as a node whose write queue is full does.</summary>
    public int RejectNextItems { get; set; }

    /// <summary>Makes the next requests answer 429 as a whole, as indexing pressure on the coordinating node does.</summary>
    public int RejectNextRequests { get; set; }

    /// <summary>Ids the double treats as failing request validation, standing in for a rule the connector cannot foresee.</summary>
    public HashSet<string> InvalidIds { get; } = [];

    /// <summary>Moves the double's clock forward (scheduled refreshes, gc_deletes expiry).</summary>
    public void AdvanceClock(TimeSpan by)
    {
        lock (_gate) _clockOffset += by;
    }

    private DateTimeOffset Now => DateTimeOffset.UtcNow + _clockOffset;

    /// <summary>Starts the double on free loopback ports: <paramref name="nodes"/> nodes of one cluster, over TLS with <paramref name="certificate"/> when given.</summary>
    public static async Task<ElasticsearchDouble> StartAsync(int nodes = 1, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (certificate is not null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            for (var i = 0; i < nodes; i++)
                kestrel.Listen(IPAddress.Loopback, 0, listen => { if (certificate is not null) listen.UseHttps(certificate); });
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var double_ = new ElasticsearchDouble(app);
        app.Use(double_.CountAsync);
        app.Use(double_.AuthenticateAsync);
        app.Use(double_.WireFormatAsync);
        app.MapGet("/", () => Results.Ok(new JsonObject
        {
            ["name"] = "double", ["cluster_name"] = "unbundled-double", ["tagline"] = "You Know, for Search",
            ["version"] = new JsonObject { ["number"] = "9.1.0", ["build_flavor"] = "default", ["minimum_wire_compatibility_version"] = "8.19.0" },
        }));
        // The clients' ping: a node that is up answers HEAD / with 200 and no body.
        app.MapMethods("/", ["HEAD"], () => Results.Ok());
        app.MapMethods("/{index}", ["HEAD"], (string index) => double_.Exists(index) ? Results.Ok() : Results.NotFound());
        app.MapPut("/{index}", (string index, HttpRequest request) => double_.Answer(async () => double_.CreateIndex(index, await BodyAsync(request))));
        app.MapGet("/{index}/_settings", (string index) => double_.Answer(() => Task.FromResult(double_.Settings(index))));
        app.MapPost("/_bulk", (HttpRequest request) => double_.Answer(() => double_.BulkAsync(request, null)));
        app.MapPost("/{index}/_bulk", (string index, HttpRequest request) => double_.Answer(() => double_.BulkAsync(request, index)));
        app.MapGet("/{index}/_doc/{id}", (string index, HttpContext context) => double_.Get(index, RawSegment(context, 3)));
        app.MapMethods("/{index}/_search", ["GET", "POST"], (string index, HttpRequest request) => double_.Answer(async () => double_.Search(index, await BodyAsync(request))));
        app.MapMethods("/{index}/_refresh", ["GET", "POST"], (string index) => double_.Answer(() => Task.FromResult(double_.Refresh(index))));
        app.MapPost("/_aliases", (HttpRequest request) => double_.Answer(async () => double_.UpdateAliases(await BodyAsync(request))));
        app.MapGet("/_alias/{alias}", (string alias) => double_.GetAlias(alias));
        app.MapDelete("/{index}", (string index) => double_.Answer(() => Task.FromResult(double_.DeleteIndex(index))));
        await app.StartAsync();
        return double_;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>The settings an index was created with, as GET /{index}/_settings shows them.</summary>
    public JsonObject? SettingsOf(string index)
    {
        lock (_gate) return _indices.TryGetValue(index, out var state) ? state.Settings.ToJson() : null;
    }

    private async Task<IResult> Answer(Func<Task<JsonObject>> handler)
    {
        try
        {
            return Results.Json(await handler());
        }
        catch (EsError error)
        {
            return Results.Json(error.Body(), statusCode: error.Status);
        }
        catch (System.Text.Json.JsonException error)
        {
            return Results.Json(new EsError(400, "x_content_parse_exception", $"[1:1] {error.Message}").Body(), statusCode: 400);
        }
        catch (NotSupportedException error)
        {
            return Results.Json(new JsonObject { ["error"] = $"not modelled by the double: {error.Message}", ["status"] = 501 }, statusCode: 501);
        }
    }

    /// <summary>
    /// A path segment decoded as Elasticsearch decodes it. Route values keep <c>%2F</c> escaped (so a
    /// path cannot change shape), which would turn a document id holding '/' into another id.
    /// </summary>
    private static string RawSegment(HttpContext context, int position) =>
        Uri.UnescapeDataString(context.Features.Get<IHttpRequestFeature>()!.RawTarget.Split('?')[0].Split('/')[position]);

    private static async Task<JsonObject?> BodyAsync(HttpRequest request)
    {
        var text = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject ?? throw new EsError(400, "parse_exception", "request body is required to be an object");
    }

    private bool Exists(string name)
    {
        lock (_gate) return _indices.ContainsKey(name) || _aliases.ContainsKey(name);
    }

    /// <summary>The concrete indices a name reaches: the index itself, or every index of an alias.</summary>
    private List<IndexState> Resolve(string name) =>
        _indices.TryGetValue(name, out var index) ? [index]
        : _aliases.TryGetValue(name, out var alias) ? alias.Indices.Select(i => _indices[i]).ToList()
        : throw EsError.IndexNotFound(name);

    /// <summary>The one index a single-document operation reaches; an alias over several is refused (Aliases reference).</summary>
    private IndexState ResolveOne(string name, bool write)
    {
        var indices = Resolve(name);
        if (indices.Count == 1) return indices[0];
        if (write && _aliases[name].WriteIndex is { } writeIndex) return _indices[writeIndex];
        throw write
            ? EsError.BadRequest($"no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index")
            : EsError.BadRequest($"alias [{name}] has more than one index associated with it [{string.Join(", ", indices.Select(i => i.Name))}], can't execute a single index op");
    }

    private JsonObject CreateIndex(string index, JsonObject? body)
    {
        ValidateIndexName(index);
        var settings = IndexSettings.Parse(body?["settings"] as JsonObject);
        var mapping = IndexMapping.Parse(body?["mappings"] as JsonObject, settings.TotalFieldsLimit);
        lock (_gate)
        {
            if (_indices.ContainsKey(index)) throw new EsError(400, "resource_already_exists_exception", $"index [{index}/uuid] already exists");
            if (_aliases.ContainsKey(index)) throw new EsError(400, "invalid_index_name_exception", $"Invalid index name [{index}], already exists as alias");
            var aliases = body?["aliases"] as JsonObject ?? [];
            foreach (var (alias, _) in aliases)
            {
                if (alias == index || _indices.ContainsKey(alias))
                    throw new EsError(400, "invalid_alias_name_exception", $"Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias");
            }
            _indices[index] = new IndexState(index, settings, mapping);
            foreach (var (alias, spec) in aliases) AddAlias(alias, index, (bool?)spec?["is_write_index"]);
        }
        return new JsonObject { ["acknowledged"] = true, ["shards_acknowledged"] = true, ["index"] = index };
    }

    /// <summary>Index names: lowercase, no leading <c>-_+</c>, not <c>.</c> or <c>..</c>, none of <c>\/*?"&lt;&gt;| ,#:</c>, at most 255 bytes.</summary>
    private static void ValidateIndexName(string index)
    {
        var reason = index != index.ToLowerInvariant() ? "must be lowercase"
            : index is "." or ".." ? "must not be '.' or '..'"
            : index.Length > 0 && index[0] is '-' or '_' or '+' ? "must not start with '_', '-', or '+'"
            : index.IndexOfAny(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) >= 0 ? "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :]"
            : Encoding.UTF8.GetByteCount(index) > 255 ? "index name is too long"
            : null;
        if (reason is not null) throw new EsError(400, "invalid_index_name_exception", $"Invalid index name [{index}], {reason}");
    }

    private JsonObject Settings(string name)
    {
        lock (_gate)
        {
            var result = new JsonObject();
            foreach (var index in Resolve(name)) result[index.Name] = new JsonObject { ["settings"] = index.Settings.ToJson() };
            return result;
        }
    }

    private JsonObject Refresh(string name)
    {
        lock (_gate)
        {
            var indices = Resolve(name);
            foreach (var index in indices) index.Refresh();
            return new JsonObject { ["_shards"] = new JsonObject { ["total"] = indices.Count, ["successful"] = indices.Count, ["failed"] = 0 } };
        }
    }

    private IResult Get(string name, string id)
    {
        lock (_gate)
        {
            try
            {
                var index = ResolveOne(name, write: false);
                return index.Live.TryGetValue(id, out var held) && held.Source is not null
                    ? Results.Ok(new JsonObject { ["_index"] = index.Name, ["_id"] = id, ["_version"] = held.Version, ["found"] = true, ["_source"] = held.Source.DeepClone() })
                    : Results.Json(new JsonObject { ["_index"] = index.Name, ["_id"] = id, ["found"] = false }, statusCode: 404);
            }
            catch (EsError error)
            {
                return Results.Json(error.Body(), statusCode: error.Status);
            }
        }
    }

    private JsonObject DeleteIndex(string name)
    {
        lock (_gate)
        {
            if (_aliases.ContainsKey(name)) throw EsError.BadRequest($"The provided expression [{name}] matches an alias, specify the corresponding concrete indices instead.");
            if (!_indices.Remove(name)) throw EsError.IndexNotFound(name);
            RemoveFromAliases(name);
        }
        return new JsonObject { ["acknowledged"] = true };
    }
}
