import Dispatch
import Foundation
import FoundationNetworking

/// One HTTP exchange with an upstream, driven by URLSession's data delegate so the body can be
/// consumed as it arrives (FoundationNetworking has no `bytes(for:)`), with popi's own timers:
/// connect (until the request body is sent), first byte (until the response headers), idle
/// (between body chunks) and total.
final class UpstreamCall: @unchecked Sendable {
    /// What the body handler wants after a chunk.
    enum BodyProgress {
        case more
        /// The caller has all it needs (e.g. `data: [DONE]`): complete now, whatever follows.
        case finished
    }

    struct Handlers {
        var response: (_ status: Int, _ headers: [String: String]) -> Void
        /// Throwing ends the exchange at once with that error (and closes the connection), so a
        /// bad or oversized body is not read to its end.
        var data: (Data) throws(LLMClientError) -> BodyProgress
        /// Called exactly once: nil on a complete response, otherwise the error.
        var complete: (LLMClientError?) -> Void
    }

    private let upstream: String
    private let timeouts: UpstreamConfiguration.Timeouts
    private let deadline: DispatchTime
    private let queue: DispatchQueue
    private var handlers: Handlers?
    private var task: URLSessionDataTask?
    private var phaseTimer: DispatchSourceTimer?
    private var totalTimer: DispatchSourceTimer?
    private var sentBody = false
    private var gotResponse = false

    init(upstream: String, timeouts: UpstreamConfiguration.Timeouts, deadline: DispatchTime, handlers: Handlers) {
        self.upstream = upstream
        self.timeouts = timeouts
        self.deadline = deadline
        self.handlers = handlers
        queue = DispatchQueue(label: "popi.upstream.call")
    }

    func start(_ request: URLRequest, session: UpstreamSession) {
        queue.sync {
            let task = session.dataTask(with: request, call: self)
            self.task = task
            totalTimer = makeTimer(at: deadline, kind: .total)
            arm(after: timeouts.connect, kind: .connect)
            task.resume()
        }
    }

    func cancel() {
        queue.async { self.finish(.cancelled) }
    }

    // MARK: delegate events (from UpstreamSession)

    func didSendBody() {
        queue.async {
            guard !self.sentBody, !self.gotResponse else { return }
            self.sentBody = true
            self.arm(after: self.timeouts.firstByte, kind: .firstByte)
        }
    }

    func didReceive(response: URLResponse) {
        queue.async {
            guard let handlers = self.handlers else { return }
            self.gotResponse = true
            self.arm(after: self.timeouts.idle, kind: .idle)
            let http = response as? HTTPURLResponse
            var headers: [String: String] = [:]
            for (key, value) in http?.allHeaderFields ?? [:] {
                if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            handlers.response(http?.statusCode ?? 0, headers)
        }
    }

    func didReceive(data: Data) {
        queue.async {
            guard let handlers = self.handlers else { return }
            self.arm(after: self.timeouts.idle, kind: .idle)
            do throws(LLMClientError) {
                if try handlers.data(data) == .finished { self.finish(nil) }
            } catch {
                self.finish(error)
            }
        }
    }

    func didComplete(error: Error?) {
        queue.async {
            guard let error else { return self.finish(nil) }
            let nsError = error as NSError
            if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorCancelled {
                return self.finish(.cancelled)
            }
            if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorTimedOut {
                return self.finish(.timeout(upstream: self.upstream, self.gotResponse ? .idle : .firstByte))
            }
            self.finish(.connection(upstream: self.upstream, reason: nsError.localizedDescription))
        }
    }

    // MARK: internals (on `queue`)

    private func finish(_ error: LLMClientError?) {
        guard let handlers else { return }
        self.handlers = nil
        phaseTimer?.cancel()
        totalTimer?.cancel()
        if error != nil { task?.cancel() }
        handlers.complete(error)
    }

    private func arm(after duration: Duration, kind: LLMClientError.TimeoutKind) {
        phaseTimer?.cancel()
        phaseTimer = makeTimer(at: .now() + duration.dispatchInterval, kind: kind)
    }

    private func makeTimer(at time: DispatchTime, kind: LLMClientError.TimeoutKind) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: time)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            self.finish(.timeout(upstream: self.upstream, kind))
        }
        timer.resume()
        return timer
    }
}
