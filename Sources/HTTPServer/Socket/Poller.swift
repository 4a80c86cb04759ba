import CEpoll
import Synchronization
import Glibc

/// Readiness from one epoll instance, waited on by `threads` event threads together. Connections
/// are registered edge-triggered for input, output and peer hang-up once, at accept; each event
/// is handed to `deliver` on the thread that received it, which runs the connection's work there
/// when the connection is idle (see `ConnectionQueue`). The kernel wakes one waiting thread per
/// event, so while one thread runs a handler's synchronous part, the others keep serving every
/// other connection.
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
    private let threadCount: Int
    private var threads: [pthread_t] = []
    static let wakeToken = UInt64.max

    init(threads: Int, deliver: @escaping Deliver) throws(SocketError) {
        epollFD = try Syscall.call("epoll_create1", { epoll_create1(Int32(EPOLL_CLOEXEC)) })
        do {
            wakeFD = try Syscall.call("eventfd", { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) })
        } catch {
            Syscall.close(epollFD)
            throw error
        }
        self.deliver = deliver
        threadCount = max(1, threads)
        // Level-triggered and never read: once written, it wakes every thread, for good.
        try add(wakeFD, token: Self.wakeToken, events: UInt32(EPOLLIN.rawValue))
    }

    /// Edge-triggered input, output and hang-up: one registration for the connection's lifetime.
    func register(_ fd: Int32, token: UInt64) throws(SocketError) {
        try add(fd, token: token, events: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue)
                | UInt32(EPOLLRDHUP.rawValue) | EPOLLET.rawValue)
    }

    /// Input on a listening socket, reported to one thread at a time: after each report the
    /// listener is quiet until `rearmListener`, so two threads never accept from it at once.
    func registerListener(_ fd: Int32, token: UInt64) throws(SocketError) {
        try add(fd, token: token, events: Self.listenerEvents)
    }

    /// Lets a listener report input again, once its backlog was accepted.
    func rearmListener(_ fd: Int32, token: UInt64) {
        var event = epoll_event()
        event.events = Self.listenerEvents
        event.data.u64 = token
        _ = try? Syscall.call("epoll_ctl", { epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event) })
    }

    private static let listenerEvents = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLONESHOT.rawValue)

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
        for index in 0..<threadCount {
            let context = Unmanaged.passRetained(Start(poller: self, index: index)).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { context in
                let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
                start.poller.run(start.index)
                return nil
            }, context)
            threads.append(thread)
        }
    }

    private final class Start {
        let poller: Poller
        let index: Int
        init(poller: Poller, index: Int) {
            self.poller = poller
            self.index = index
        }
    }

    /// Stops the threads and closes the epoll descriptor; returns once every thread has exited
    /// (but the calling one, when an event thread stops its own server).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        for thread in threads where pthread_equal(thread, pthread_self()) == 0 {
            pthread_join(thread, nil)
        }
        Syscall.close(wakeFD)
        Syscall.close(epollFD)
    }

    /// Names the calling thread (as `ps -L` and debuggers show it), through procfs: Glibc's overlay
    /// does not export `pthread_setname_np`.
    static func nameThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Array(name.utf8.prefix(15)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        Syscall.close(fd)
    }

    private func run(_ index: Int) {
        Self.nameThread("popi-http-\(index)")
        // One event at a time: a thread never holds events it is not working on, so a handler
        // that keeps its thread delays nothing but its own connection; every other ready event
        // goes to another thread. (Taking several per call saves a system call per event and
        // would let one slow handler stall the rest of the batch.)
        var event = epoll_event()
        while !stopped.load(ordering: .relaxed) {
            let count = epoll_wait(epollFD, &event, 1, -1)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            if count == 1 && event.data.u64 != Self.wakeToken {
                deliver(event.data.u64, event.events)
            }
        }
    }
}
