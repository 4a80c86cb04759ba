public import Foundation

/// How to load and run a model.
public struct EngineConfiguration: Sendable {
    /// A GGUF file of a Llama-family model.
    public var modelPath: String
    /// Threads for the forward pass (the calling engine thread is one of them).
    public var threads: Int
    /// Most tokens in one forward pass (prompt chunks, scored responses, concurrent decodes).
    public var maxBatchTokens: Int
    /// Positions the KV cache may hold across all running sequences (default: 4 × the model's
    /// context); the prefix cache's budget comes on top.
    public var maxCachedTokens: Int?
    /// Most prompt tokens read in a pass that also decodes running generations.
    public var prefillChunkTokens: Int
    /// KV memory for prompts kept for their owners' next requests (0 turns the prefix cache off).
    public var prefixCacheBytes: Int
    /// Overrides the chat template recognised from the file.
    public var chatTemplate: ChatTemplate.Kind?
    public var kernels: KernelSet

    public init(modelPath: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, maxBatchTokens: Int = 512,
                maxCachedTokens: Int? = nil, prefillChunkTokens: Int = 256, prefixCacheBytes: Int = 256 << 20,
                chatTemplate: ChatTemplate.Kind? = nil, kernels: KernelSet = .detected) {
        self.modelPath = modelPath
        self.threads = threads
        self.maxBatchTokens = maxBatchTokens
        self.maxCachedTokens = maxCachedTokens
        self.prefillChunkTokens = prefillChunkTokens
        self.prefixCacheBytes = prefixCacheBytes
        self.chatTemplate = chatTemplate
        self.kernels = kernels
    }

    func validate() throws(InferenceError) {
        guard (1...256).contains(threads) else {
            throw .invalidParameter(name: "threads", reason: "must be between 1 and 256, got \(threads)")
        }
        guard (1...8192).contains(maxBatchTokens) else {
            throw .invalidParameter(name: "max_batch_tokens", reason: "must be between 1 and 8192, got \(maxBatchTokens)")
        }
        guard (1...8192).contains(prefillChunkTokens) else {
            throw .invalidParameter(name: "prefill_chunk_tokens", reason: "must be between 1 and 8192, got \(prefillChunkTokens)")
        }
        guard prefixCacheBytes >= 0 else {
            throw .invalidParameter(name: "prefix_cache_bytes", reason: "must be at least 0, got \(prefixCacheBytes)")
        }
        if let maxCachedTokens, maxCachedTokens < 1 {
            throw .invalidParameter(name: "max_cached_tokens", reason: "must be at least 1, got \(maxCachedTokens)")
        }
    }
}
