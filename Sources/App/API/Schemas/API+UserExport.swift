import Foundation
import HTTPServer
import Store

extension API {
    /// Everything stored about a user, written page by page: `{"feedback":[…],"jobs":[…],
    /// "summaries":[…],"usage":…,"user":{…}}`, the bytes `JSONBody` would write for the whole
    /// document (keys sorted, compact), while only one page of rows is in memory at a time.
    struct UserExport: Sendable {
        struct User: Encodable, Sendable {
            let userID: String
            let createdAt: Date
            @Nullable var lastFeedbackAt: Date?
            let feedbackRevision: Int64

            enum CodingKeys: String, CodingKey {
                case userID = "user_id"
                case createdAt = "created_at"
                case lastFeedbackAt = "last_feedback_at"
                case feedbackRevision = "feedback_revision"
            }
        }

        let export: Store.UserExport
        let userData: UserDataRepository
        /// Rows per query, and per chunk written.
        let pageRows: Int

        /// Writes the document, one chunk per page. Throws when the database or the client fails
        /// midway (the server then cuts the connection, so a truncated export never looks whole).
        func write(to writer: any ResponseBodyWriter) async throws {
            var pending = Array(#"{"feedback":"#.utf8)
            try await list(&pending, writer) { [export, userData, pageRows] after in
                let page = try await userData.events(of: export, after: after, limit: pageRows)
                return (try JSONBody.encode(page.map(FeedbackEvent.init)), page.count, page.last?.id)
            }
            pending += Array(#","jobs":"#.utf8)
            try await list(&pending, writer) { [export, userData, pageRows] after in
                let page = try await userData.jobs(of: export, after: after, limit: pageRows)
                return (try JSONBody.encode(page.map(Job.init)), page.count, page.last?.id)
            }
            pending += Array(#","summaries":"#.utf8)
            try await list(&pending, writer) { [export, userData, pageRows] after in
                let page = try await userData.summaries(of: export, after: after, limit: pageRows)
                return (try JSONBody.encode(page.map(SummaryVersion.init)), page.count, page.last?.version)
            }
            let user = export.user
            pending += Array(#","usage":"#.utf8)
            pending += try export.usage.map { try JSONBody.encode(UsageCounters($0)) } ?? Array("null".utf8)
            pending += Array(#","user":"#.utf8)
            pending += try JSONBody.encode(User(userID: user.externalID, createdAt: user.createdAt,
                                                lastFeedbackAt: user.lastFeedbackAt, feedbackRevision: user.feedbackRevision))
            pending.append(UInt8(ascii: "}"))
            try await writer.write(pending)
        }

        /// One JSON array, page after page until one comes back short. `page` gives a page encoded
        /// as an array (one encoder per page: a JSONEncoder per row made exports 5 times slower),
        /// its row count and its last key; the pages' elements are joined into one array. Each
        /// page is written at once, so a chunk holds at most one page of rows.
        private func list<Cursor: Sendable>(_ pending: inout [UInt8], _ writer: any ResponseBodyWriter,
                                            page: @Sendable (Cursor?) async throws -> ([UInt8], Int, Cursor?)) async throws {
            pending.append(UInt8(ascii: "["))
            var cursor: Cursor?
            var first = true
            while true {
                let (array, count, last) = try await page(cursor)
                guard count > 0 else { break }
                if !first { pending.append(UInt8(ascii: ",")) }
                first = false
                pending += array.dropFirst().dropLast()   // the elements, without the page's brackets
                try await writer.write(pending)
                pending = []
                if count < pageRows { break }
                cursor = last
            }
            pending.append(UInt8(ascii: "]"))
        }
    }
}
