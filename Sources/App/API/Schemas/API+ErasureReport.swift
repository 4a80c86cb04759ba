import Store

extension API {
    /// What erasing a user deleted: rows per table, and in all.
    struct ErasureReport: Encodable, Sendable {
        let userID: String
        let deleted: [String: Int]
        let total: Int

        init(userID: String, _ report: Store.ErasureReport) {
            self.userID = userID
            deleted = Dictionary(report.byTable.map { ($0.table, $0.rows) }, uniquingKeysWith: +)
            total = report.total
        }

        enum CodingKeys: String, CodingKey {
            case deleted, total
            case userID = "user_id"
        }
    }
}
