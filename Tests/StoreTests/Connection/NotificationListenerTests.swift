import Foundation
import Testing
@testable import Store

@Suite struct NotificationListenerTests {
    /// A NOTIFY from another connection wakes the waiter registered for its payload; one sent
    /// before the wait is kept for it; waiters for other payloads sleep on.
    @Test func aNotifyFromAnotherConnectionWakesItsWaiter() async throws {
        let store = try await TestDatabase.store()
        let listener = NotificationListener(configuration: try TestDatabase.configuration())
        defer { listener.stop() }
        let channel = "popi_test_\(UUID().uuidString.prefix(8).lowercased().filter(\.isLetter))"
        let mine = listener.register(channel: channel, payload: "42")
        let other = listener.register(channel: channel, payload: "43")
        // The first LISTEN wakes every waiter once (anything sent before it was missed).
        #expect(await listener.wait(mine, until: .now + .seconds(600)))
        #expect(await listener.wait(other, until: .now + .seconds(600)))
        #expect(listener.isListening(on: channel))

        let woken = Task { await listener.wait(mine, until: .now + .seconds(600)) }
        try await store.pool.query("SELECT pg_notify(\(channel), '42')")
        #expect(await woken.value, "woken by the notification, long before its deadline")
        // Sent while nobody waited: kept for the next wait.
        try await store.pool.query("SELECT pg_notify(\(channel), '42')")
        try await Task.sleep(for: .milliseconds(200))
        #expect(await listener.wait(mine, until: .now + .seconds(600)))
        // Nothing for 43: its wait runs to its deadline.
        #expect(await !listener.wait(other, until: .now + .milliseconds(200)))
        listener.unregister(mine)
        listener.unregister(other)
        #expect(listener.registrations == 0)
    }

    /// Stopping ends the waits at once, and later waits return at once.
    @Test func stopEndsEveryWait() async throws {
        let listener = NotificationListener(configuration: try TestDatabase.configuration())
        let registration = listener.register(channel: "popi_test_stop", payload: "1")
        _ = await listener.wait(registration, until: .now + .seconds(600))
        let waiting = Task { await listener.wait(registration, until: .now + .seconds(600)) }
        try await Task.sleep(for: .milliseconds(100))
        listener.stop()
        #expect(await !waiting.value)
        #expect(await !listener.wait(registration, until: .now + .seconds(600)))
    }
}
