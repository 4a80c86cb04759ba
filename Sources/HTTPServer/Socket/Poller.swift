import CEpoll
import Synchronization
import Glibc

/// Readiness from one epoll instance, waited on by one dedicated thread. Connections are
/// registered edge-triggered for input, output and peer hang-up once, at accept; each event is
/// handed to the owner's own serial queue by `deliver`, so the thread never runs handler code.
///
/// Why not a Dispatch source per socket: on Linux, libdispatch multiplexes sources per descriptor
/// number and loses or misroutes events when numbers are reused quickly (swift-corelibs-libdispatch
/// issues 833 and 949), which is exactly what a busy server does.
final class Poller: @unchecked Sendable {
    typealias Deliver = (_ token: UInt64, _ events: UInt32) -> Void

    private let epollFD: Int32
    private let wakeFD: Int32
    private let deliver: Deliver
    private let stopped = Atomic<Bool>(false)
    private let exited = Mutex<Bool>(false)
    private var thread = pthread_t()
    static let wakeToken = UInt64.max

    init(deliver: @escaping Deliver) throws(SocketError) {
        epollFD = try Syscall.call("epoll_create1", { epoll_create1(Int32(EPOLL_CLOEXEC)) })
        do {
            wakeFD = try Syscall.call("eventfd", { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) })
        } catch {
            Syscall.close(epollFD)
            throw error
        }
        self.deliver = deliver
        try add(wakeFD, token: Self.wakeToken, events: UInt32(EPOLLIN.rawValue))
    }

    /// Edge-triggered input, output and hang-up: one registration for the connection's lifetime.
    func register(_ fd: Int32, token: UInt64) throws(SocketError) {
        try add(fd, token: token, events: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue)
                | UInt32(EPOLLRDHUP.rawValue) | EPOLLET.rawValue)
    }

    /// Level-triggered input, for listening sockets.
    func registerListener(_ fd: Int32, token: UInt64) throws(SocketError) {
        try add(fd, token: token, events: UInt32(EPOLLIN.rawValue))
    }

    func deregister(_ fd: Int32) {
        _ = try? Syscall.call("epoll_ctl", { epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil) })
    }

    private func add(_ fd: Int32, token: UInt64, events: UInt32) throws(SocketError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = try Syscall.call("epoll_ctl", { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) })
    }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let poller = Unmanaged<Poller>.fromOpaque(context!).takeRetainedValue()
            poller.run()
            return nil
        }, context)
    }

    /// Stops the thread and closes the epoll descriptor; returns once the thread has exited.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        pthread_join(thread, nil)
        Syscall.close(wakeFD)
        Syscall.close(epollFD)
    }

    /// Returns once the poller thread has finished the event batch it was handling, so nothing
    /// it read before this call is still being acted on (used before closing listeners).
    func synchronize() {
        let done = Mutex<Bool>(false)
        pending.withLock { $0.append { done.withLock { $0 = true } } }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        while !done.withLock({ $0 }) && !stopped.load(ordering: .relaxed) {
            usleep(1000)
        }
    }

    private let pending = Mutex<[@Sendable () -> Void]>([])

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopped.load(ordering: .relaxed) {
            let count = epoll_wait(epollFD, events, Int32(capacity), -1)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<Int(count) {
                let token = events[i].data.u64
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    let work = pending.withLock { work -> [@Sendable () -> Void] in
                        defer { work.removeAll() }
                        return work
                    }
                    work.forEach { $0() }
                    continue
                }
                deliver(token, events[i].events)
            }
        }
    }
}
