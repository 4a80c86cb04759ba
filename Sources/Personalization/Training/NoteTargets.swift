/// The note each training pair shows (targets of `SummarizerMethod.notes`), learnt from the
/// dataset itself. A user with one trait names a pole (the trait) and, through its pairs'
/// `dimension`, the dimension the pole belongs to; the pole's sentence is the persona most such
/// users share. Then every pair, of any user, whose dimension the user has a known pole in is a
/// note with that pole's sentence; and when the dataset knows exactly two poles of the dimension,
/// the same pair with its responses swapped is a note with the other pole's sentence. The swapped
/// copy shows the same two responses with the opposite target, so a note can only be learnt
/// from which response was preferred, not from what the pair is about or how common a
/// preference is. Nothing here names a dimension: they are whatever the dataset's labels are.
public struct NoteTargets: Sendable, Equatable {
    /// A pair and the note it shows.
    public struct Note: Sendable, Equatable {
        public var pair: PreferencePair
        public var note: String
        /// The other pole's note: the target of the pair with its responses swapped.
        public var swappedNote: String?

        /// The pair with its responses swapped.
        public var swappedPair: PreferencePair {
            PreferencePair(prompt: pair.prompt, chosen: pair.rejected, rejected: pair.chosen)
        }
    }

    /// Pole -> its sentence.
    private var sentences: [String: String] = [:]
    /// Pole -> its dimension.
    private var dimensionOfPole: [String: String] = [:]
    /// Dimension -> its known poles, sorted.
    private var poles: [String: [String]] = [:]

    /// The poles, dimensions and sentences `users` show (see the type's description).
    public init(_ users: [PersonaDataset.User]) {
        var counts: [String: [String: Int]] = [:]
        var firstSeen: [String: [String]] = [:]
        for user in users where user.traits.count == 1 {
            let pole = user.traits[0], persona = user.persona.trimmingCharacters(in: .whitespacesAndNewlines)
            let dimensions = Set(user.dimensions)
            guard !persona.isEmpty, dimensions.count == 1, let dimension = dimensions.first ?? nil else { continue }
            // A pole seen in two dimensions is ambiguous: it is left unknown.
            if let known = dimensionOfPole[pole], known != dimension {
                dimensionOfPole[pole] = ""
                continue
            }
            dimensionOfPole[pole] = dimension
            if counts[pole, default: [:]][persona] == nil { firstSeen[pole, default: []].append(persona) }
            counts[pole, default: [:]][persona, default: 0] += 1
        }
        dimensionOfPole = dimensionOfPole.filter { !$0.value.isEmpty }
        for (pole, dimension) in dimensionOfPole {
            let tally = counts[pole] ?? [:]
            // The most common persona of the pole; the first seen among equals.
            var best: String?
            for persona in firstSeen[pole] ?? [] where best.map({ tally[persona, default: 0] > tally[$0, default: 0] }) ?? true {
                best = persona
            }
            guard let best else { continue }
            sentences[pole] = best
            poles[dimension, default: []].append(pole)
        }
        poles = poles.mapValues { $0.sorted() }
    }

    /// The notes `user`'s pairs show: `signals`' pairs, then `heldOut`'s, each whose dimension the
    /// user has a known pole in.
    public func notes(for user: PersonaDataset.User) -> [Note] {
        var poleOfDimension: [String: String] = [:]
        for trait in user.traits {
            if let dimension = dimensionOfPole[trait] { poleOfDimension[dimension] = trait }
        }
        return user.labelledPairs.compactMap { pair, dimension in
            guard let dimension, let pole = poleOfDimension[dimension], let note = sentences[pole] else { return nil }
            let known = poles[dimension] ?? []
            let other = known.count == 2 ? known.first { $0 != pole }.flatMap { sentences[$0] } : nil
            return Note(pair: pair, note: note, swappedNote: other)
        }
    }
}
