import Personalization
import Store

/// Limits and policies of the HTTP API. Every limit is explicit; `popi serve` flags set them.
struct APIConfiguration: Sendable {
    /// Largest request body accepted.
    var maxBodyBytes = 1 << 20
    /// Deepest nesting of arrays and objects in a request body.
    var maxJSONDepth = 64
    /// Most feedback events in one POST.
    var maxBatchEvents = 1000
    /// Longest single text field (prompt, response, statement).
    var maxFieldBytes = 64 << 10
    /// Longest prompt, in tokens, for generation, chat completions and ranking.
    var maxPromptTokens = 4096
    /// Most tokens one generation may ask for.
    var maxGenerationTokens = 2048
    /// Per-key token bucket.
    var rateLimitPerSecond = 20.0
    var rateLimitBurst = 40
    /// Failed authentications per client address (IPv4 address, IPv6 /64): a token bucket;
    /// beyond it, 429 without a key lookup.
    var authFailureRatePerSecond = 1.0
    var authFailureBurst = 20
    /// In-process generations at once, and how many may wait for a slot. The engine batches the
    /// running ones' decode steps, so more slots raise throughput; 8 was measured with
    /// bench/serving.sh (bench/results/README.md).
    var maxConcurrentGenerations = 8
    var generationQueue = 32
    /// Calls to upstream APIs at once (as many more may wait).
    var maxUpstreamCalls = 64
    /// Part (0-1] of the generation and upstream slots, and of their queues, one tenant may hold:
    /// with 0.5 no tenant can take them all and leave the others waiting.
    var tenantShare = 0.5
    /// New feedback waits this long for more before a refresh starts (trailing debounce), but never
    /// longer than `refreshMaxDelaySeconds` after the first.
    var refreshDebounceSeconds = 2.0
    var refreshMaxDelaySeconds = 30.0
    /// Most summary refreshes one tenant may have queued: beyond, new feedback is stored without
    /// one and an explicit refresh is refused (429), so one tenant cannot flood the queue.
    var maxQueuedRefreshesPerTenant = 1000
    /// Longest `?wait=` on a refresh.
    var maxRefreshWaitSeconds = 120.0
    /// How long an API key lookup is cached; a key revoked on another replica stops working
    /// within this time (at once on the replica that revoked it).
    var keyCacheSeconds = 10.0
    /// Most feedback a user and a tenant may store (413 `quota_exceeded` beyond).
    var storageQuota = StorageQuota(userEvents: 100_000, userBytes: 100 << 20, tenantEvents: 10_000_000, tenantBytes: 10 << 30)
    /// Pairs an edited summary is scored on (the newest).
    var editedSummaryScoringPairs = 16
    var summary = SummaryOptions()

    init() {}

    /// The refresh job new feedback queues: one pending per user, debounced, within the tenant's cap.
    var refreshJob: FeedbackRepository.RefreshJob {
        let debounce = refreshDebounceSeconds, maxDelay = refreshMaxDelaySeconds, cap = maxQueuedRefreshesPerTenant
        return { user in NewJob.summaryRefresh(for: user, delay: debounce, maxDelay: maxDelay, maxQueuedPerTenant: cap) }
    }
}
