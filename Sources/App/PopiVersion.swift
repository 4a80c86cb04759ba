/// The version popi reports in `popi version`, `/healthz` and its user agent.
enum PopiVersion {
    static let current = "0.1.0"
}
