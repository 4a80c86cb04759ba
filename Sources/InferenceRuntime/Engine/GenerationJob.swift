import Synchronization

/// A generation request on its way through the engine (state touched only on the engine thread,
/// except the cancellation flag).
final class GenerationJob: @unchecked Sendable {
    let request: GenerationRequest
    let onText: (@Sendable (Int, String) -> Void)?
    var completion: ((Result<[Generation], Error>) -> Void)?
    var results: [Generation?] = []
    var remaining = 0
    private let cancelled = Atomic<Bool>(false)

    init(request: GenerationRequest, onText: (@Sendable (Int, String) -> Void)?) {
        self.request = request
        self.onText = onText
    }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
