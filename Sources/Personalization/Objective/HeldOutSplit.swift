/// Splits a user's pairs into context pairs (the summary is inferred from them) and held-out
/// pairs (the summary is scored on them); a summary is never scored on a pair it saw.
///
/// Scheme: every fourth pair counting from the oldest (the 1st, 5th, 9th, 13th) is held out, one
/// per four pairs, at least one and at most `maxHeldOut`; the rest, in their original order, are
/// the context (of which the prompt keeps the newest). Both old and recent behaviour is scored,
/// and the newest pairs always inform the summary. With fewer than two pairs nothing can be held
/// out.
public struct HeldOutSplit: Sendable, Equatable {
    public var context: [PreferencePair]
    public var heldOut: [PreferencePair]

    public init(context: [PreferencePair], heldOut: [PreferencePair]) {
        self.context = context
        self.heldOut = heldOut
    }

    /// `pairs` oldest first.
    public init(pairs: [PreferencePair], maxHeldOut: Int = 4) {
        guard pairs.count >= 2 else {
            self.init(context: pairs, heldOut: [])
            return
        }
        let count = min(maxHeldOut, max(1, pairs.count / 4))
        let heldOutIndices = Set((0..<count).map { 4 * $0 })
        var context: [PreferencePair] = []
        var heldOut: [PreferencePair] = []
        for (index, pair) in pairs.enumerated() {
            if heldOutIndices.contains(index) { heldOut.append(pair) } else { context.append(pair) }
        }
        self.init(context: context, heldOut: heldOut)
    }

    public var canScore: Bool { !heldOut.isEmpty && !context.isEmpty }
}
