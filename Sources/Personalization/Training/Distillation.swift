/// Best-of-N distillation's choice (`SummarizerMethod.distill`): which candidate a user's
/// supervised step learns.
public enum Distillation {
    /// The valid candidate with the highest reward, if that reward beats `baseline` (no summary
    /// at all); the first on a tie. A user whose candidates all do worse than saying nothing
    /// teaches nothing.
    public static func target(rewards: [Double?], valid: [Bool], baseline: Double) -> Int? {
        precondition(rewards.count == valid.count)
        var best: Int?
        for index in rewards.indices where valid[index] {
            guard let reward = rewards[index], reward > baseline else { continue }
            if best.map({ reward > rewards[$0]! }) ?? true { best = index }
        }
        return best
    }
}
