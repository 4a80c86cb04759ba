import Synchronization

/// A scoring request on its way through the engine.
final class ScoreJob: @unchecked Sendable {
    let requests: [ScoreRequest]
    var completion: ((Result<[[ResponseScore]], Error>) -> Void)?
    private let cancelled = Atomic<Bool>(false)

    init(requests: [ScoreRequest]) { self.requests = requests }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
