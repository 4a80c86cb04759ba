import Foundation
import Synchronization
import FoundationNetworking

/// One URLSession per upstream (connections are reused across calls) whose delegate routes each
/// task's events to its `UpstreamCall`.
final class UpstreamSession: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let calls = Mutex<[Int: UpstreamCall]>([:])
    private var session: URLSession!

    init(idleTimeout: Duration, totalTimeout: Duration) {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        // popi's own timers are authoritative; URLSession's are a looser backstop. Capped like
        // `dispatchInterval`: FoundationNetworking turns them into integer milliseconds.
        configuration.timeoutIntervalForRequest = min(idleTimeout.seconds, 1e9) + 5
        configuration.timeoutIntervalForResource = min(totalTimeout.seconds, 1e9) + 5
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    func dataTask(with request: URLRequest, call: UpstreamCall) -> URLSessionDataTask {
        let task = session.dataTask(with: request)
        calls.withLock { $0[task.taskIdentifier] = call }
        return task
    }

    /// Lets running calls finish, then releases the session (it holds its delegate strongly).
    func invalidate() {
        session.finishTasksAndInvalidate()
    }

    private func call(for task: URLSessionTask) -> UpstreamCall? {
        calls.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64,
                    totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        call(for: task)?.didSendBody()
    }

    /// Redirects are not followed: the request carries the API key, and a base URL that redirects
    /// is a configuration error better reported (as the 3xx status) than worked around.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        call(for: dataTask)?.didReceive(response: response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        call(for: dataTask)?.didReceive(data: data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let call = calls.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        call?.didComplete(error: error)
    }
}
