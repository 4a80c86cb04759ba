/// The version popi reports in `popi version`, `/healthz` and its user agent.
public enum PopiVersion {
    public static let current = "0.1.0"
}
