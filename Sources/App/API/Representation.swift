import Crypto
import Foundation
import Store

/// The JSON forms of stored records, as `openapi.yaml` describes them.
enum Representation {
    static func event(_ event: FeedbackEvent) -> JSONValue {
        var fields: [String: JSONValue] = [
            "event_id": .int64(event.id.rawValue),
            "id": .optional(event.idempotencyKey),
            "kind": .string(event.content.kind.rawValue),
            "metadata": (try? event.metadata.decode(JSONValue.self)) ?? .object([:]),
            "occurred_at": .date(event.occurredAt),
            "created_at": .date(event.createdAt),
        ]
        switch event.content {
        case let .pair(prompt, chosen, rejected):
            fields["prompt"] = .string(prompt)
            fields["chosen"] = .string(chosen)
            fields["rejected"] = .string(rejected)
        case let .statement(text):
            fields["text"] = .string(text)
        case let .content(text, prompt):
            fields["text"] = .string(text)
            fields["prompt"] = .optional(prompt)
        }
        return .object(fields)
    }

    static func version(_ summary: SummaryVersion) -> JSONValue {
        .object([
            "version": .int(summary.version),
            "text": .string(summary.text),
            "reward": .optional(summary.scores.reward),
            "accuracy": .optional(summary.scores.accuracy),
            "held_out_count": .int(summary.scores.heldOutCount),
            "candidate_count": .int(summary.scores.candidateCount),
            "summary_tokens": .optional(summary.scores.summaryTokens),
            "raw_signal_tokens": .optional(summary.scores.rawSignalTokens),
            "source_event_ids": .array(summary.sourceEventIDs.map { .int64($0.rawValue) }),
            "model": .string(summary.modelID),
            "prompt_version": .string(summary.promptVersion),
            "adapter_sha256": .optional(summary.adapterSHA256),
            "origin": .string(summary.origin.rawValue),
            "restored_from": .optional(summary.restoredFrom),
            "pinned": .bool(summary.pinned),
            "created_at": .date(summary.createdAt),
        ])
    }

    /// The user's summary as `GET …/summary` shows it: the current version's fields (null when
    /// there is none), its status, and the refresh job if one is queued or running.
    static func summary(_ state: SummaryState) -> JSONValue {
        var fields: [String: JSONValue] = [
            "user_id": .string(state.user.externalID),
            "status": .string(state.status.rawValue),
            "refresh_job": state.refreshJob.map(job) ?? .null,
        ]
        if let current = state.current, case .object(let version) = version(current) {
            fields.merge(version) { _, new in new }
        } else {
            for key in ["version", "text", "reward", "accuracy", "summary_tokens", "raw_signal_tokens", "model",
                        "prompt_version", "adapter_sha256", "origin", "restored_from", "created_at"] {
                fields[key] = .null
            }
            fields["held_out_count"] = .int(0)
            fields["candidate_count"] = .int(0)
            fields["source_event_ids"] = .array([])
            fields["pinned"] = .bool(false)
        }
        return .object(fields)
    }

    static func job(_ job: Job) -> JSONValue {
        .object([
            "job_id": .int64(job.id.rawValue),
            "kind": .string(job.kind),
            "state": .string(job.state.rawValue),
            "attempts": .int(job.attempts),
            "run_after": .date(job.runAfter),
            "last_error": .optional(job.lastError),
            "created_at": .date(job.createdAt),
            "finished_at": .optionalDate(job.finishedAt),
        ])
    }

    static func tenant(_ tenant: Tenant) -> JSONValue {
        .object(["tenant_id": .string(tenant.id.description), "name": .string(tenant.name), "created_at": .date(tenant.createdAt)])
    }

    static func key(_ key: Store.APIKey) -> JSONValue {
        .object([
            "key_id": .string(key.id.description),
            "tenant_id": .string(key.tenantID.description),
            "name": .string(key.name),
            "prefix": .string(key.prefix),
            "scopes": .array(key.scopes.sorted().map(JSONValue.string)),
            "created_at": .date(key.createdAt),
            "revoked_at": .optionalDate(key.revokedAt),
            "last_used_at": .optionalDate(key.lastUsedAt),
        ])
    }

    static func usage(_ usage: UsageCounters?) -> JSONValue {
        guard let usage else { return .null }
        return .object([
            "generations": .int64(usage.generations),
            "prompt_tokens": .int64(usage.promptTokens),
            "completion_tokens": .int64(usage.completionTokens),
            "updated_at": .date(usage.updatedAt),
        ])
    }

    /// A weak ETag over the representation's bytes: changes whenever anything shown changes.
    static func etag(_ value: JSONValue) -> String {
        let digest = SHA256.digest(value.bytes)
        return "W/\"" + digest.prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }
}
