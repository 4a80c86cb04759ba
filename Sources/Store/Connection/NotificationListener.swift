import Dispatch
import Foundation
import Synchronization

/// PostgreSQL LISTEN on a connection of its own, so a task can wait for a notification (say, job
/// 42 finished, sent with NOTIFY by whichever replica finished it) instead of polling.
///
/// The connection is opened on the first registration and lives on a thread of its own, asleep
/// in poll() on its socket and on a pipe that wakes it for a new channel or for `stop`. It
/// reconnects with backoff when the server goes away. A notification sent while no LISTEN was
/// active is lost, so after each LISTEN every waiter on the channel is woken once: waiters check
/// again what they wait for whenever they wake, and never rely on being woken.
public final class NotificationListener: Sendable {
    /// A task's interest in one payload on one channel: a notification for it is kept until
    /// `wait` takes it, so none is lost between a check and the wait that follows.
    public struct Registration: Sendable, Hashable {
        let id: UInt64
    }

    private struct Waiter {
        let channel: String
        let payload: String
        /// Woken (a notification, or a new LISTEN) since `wait` last returned.
        var woken = false
        var continuation: CheckedContinuation<Bool, Never>?
        /// Counts waits, so the timer of an earlier wait cannot end a later one.
        var generation: UInt64 = 0
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        /// Channels someone waited on: the thread LISTENs to each on every connection.
        var channels: Set<String> = []
        /// Channels LISTENed to on the current connection.
        var listening: Set<String> = []
        var started = false
        var stopped = false
    }

    private let configuration: DatabaseConfiguration
    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(configuration: DatabaseConfiguration) {
        self.configuration = configuration
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
        } else {
            descriptors = [-1, -1]
        }
        wakeRead = descriptors[0]
        wakeWrite = descriptors[1]
    }

    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// Starts keeping notifications with `payload` on `channel` (a name made by the program:
    /// lowercase letters, digits and underscores). Pair it with `unregister`.
    public func register(channel: String, payload: String) -> Registration {
        precondition(!channel.isEmpty && channel.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x61...0x7A).contains($0)
                        || (0x30...0x39).contains($0) }, "channel names are lowercase identifiers")
        let (registration, start, newChannel) = state.withLock { state in
            state.nextID += 1
            state.waiters[state.nextID] = Waiter(channel: channel, payload: payload)
            let newChannel = state.channels.insert(channel).inserted
            let start = !state.started && !state.stopped && wakeRead >= 0
            if start { state.started = true }
            return (Registration(id: state.nextID), start, newChannel)
        }
        if start {
            let thread = Thread { [self] in run() }
            thread.stackSize = 1 << 20
            thread.start()
        } else if newChannel {
            poke()
        }
        return registration
    }

    public func unregister(_ registration: Registration) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: registration.id) }
        waiter?.continuation?.resume(returning: false)
    }

    /// True while `channel` is LISTENed to: a notification on it will wake its waiters.
    public func isListening(on channel: String) -> Bool {
        state.withLock { $0.listening.contains(channel) }
    }

    /// Registrations now, for tests.
    var registrations: Int { state.withLock { $0.waiters.count } }

    /// Waits until the registration is woken (true), or until `deadline`, cancellation or
    /// `stop` (false). A wake that came since the last wait returns at once.
    @discardableResult
    public func wait(_ registration: Registration, until deadline: ContinuousClock.Instant) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let outcome: (immediate: Bool?, generation: UInt64) = state.withLock { state in
                    guard var waiter = state.waiters[registration.id], !state.stopped, !Task.isCancelled else { return (false, 0) }
                    defer { state.waiters[registration.id] = waiter }
                    if waiter.woken {
                        waiter.woken = false
                        return (true, 0)
                    }
                    waiter.generation += 1
                    waiter.continuation = continuation
                    return (nil, waiter.generation)
                }
                if let immediate = outcome.immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                // At most a day: a deadline is a request's wait, and this keeps the arithmetic in range.
                let remaining = min(max(.zero, ContinuousClock.now.duration(to: deadline)), .seconds(86400))
                let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [self] in
                    resume(registration, generation: outcome.generation)
                }
            }
        } onCancel: {
            resume(registration, generation: nil)
        }
    }

    /// Ends every wait and the thread (its connection closes); later waits return at once.
    public func stop() {
        let waiting = state.withLock { state in
            state.stopped = true
            var waiting: [CheckedContinuation<Bool, Never>] = []
            for id in state.waiters.keys {
                if let continuation = state.waiters[id]?.continuation { waiting.append(continuation) }
                state.waiters[id]?.continuation = nil
            }
            return waiting
        }
        waiting.forEach { $0.resume(returning: false) }
        poke()
    }

    /// Ends one wait as not woken (a timeout or a cancellation); `generation` nil ends any.
    private func resume(_ registration: Registration, generation: UInt64?) {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard var waiter = state.waiters[registration.id], let continuation = waiter.continuation,
                  generation == nil || generation == waiter.generation else { return nil }
            waiter.continuation = nil
            state.waiters[registration.id] = waiter
            return continuation
        }
        continuation?.resume(returning: false)
    }

    /// Wakes the matching waiters: those waiting now return true, the others at their next wait.
    private func wake(where matches: (Waiter) -> Bool) {
        let continuations = state.withLock { state in
            var woken: [CheckedContinuation<Bool, Never>] = []
            for (id, var waiter) in state.waiters where matches(waiter) {
                if let continuation = waiter.continuation {
                    woken.append(continuation)
                    waiter.continuation = nil
                } else {
                    waiter.woken = true
                }
                state.waiters[id] = waiter
            }
            return woken
        }
        continuations.forEach { $0.resume(returning: true) }
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    // MARK: The thread

    private func run() {
        var backoff = 0.1
        while !isStopped {
            if let connection = try? Connection.connect(configuration) {
                backoff = 0.1
                listen(on: connection)
                state.withLock { $0.listening = [] }
            }
            if isStopped { break }
            pause(seconds: backoff)
            backoff = min(backoff * 2, 5)
        }
    }

    /// LISTENs to every wanted channel and hands notifications out, until the connection breaks or `stop`.
    private func listen(on connection: Connection) {
        var listening: Set<String> = []
        while true {
            let (wanted, stopped) = state.withLock { ($0.channels, $0.stopped) }
            if stopped { return }
            let added = wanted.subtracting(listening)
            if !added.isEmpty {
                do {
                    // Checked identifiers (see `register`), so they can stand in the statement.
                    for channel in added.sorted() { try connection.simple("LISTEN \(channel)") }
                } catch {
                    return
                }
                listening.formUnion(added)
                state.withLock { $0.listening = listening }
                wake { added.contains($0.channel) }
            }
            while let notification = connection.nextNotification() {
                wake { $0.channel == notification.channel && $0.payload == notification.payload }
            }
            var descriptors = [pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[1].revents != 0 { drainWakePipe() }
            if descriptors[0].revents != 0, !connection.consumeInput() { return }
        }
    }

    /// Sleeps up to `seconds`, or until poked.
    private func pause(seconds: Double) {
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Int32(seconds * 1000)) > 0 { drainWakePipe() }
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }
}
