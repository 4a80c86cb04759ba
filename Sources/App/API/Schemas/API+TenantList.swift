extension API {
    struct TenantList: Encodable, Sendable {
        let tenants: [Tenant]
    }
}
