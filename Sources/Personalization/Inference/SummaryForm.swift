public import InferenceRuntime

/// How the summarizer reads a user's signals.
public enum SummaryForm: String, Codable, Sendable, CaseIterable {
    /// One prompt holds every example; the summarizer writes the whole summary at once.
    case whole
    /// One prompt per example pair; the summarizer writes one sentence about what the preferred
    /// response does, and the sentences are merged (`NoteMerger`). Each prompt asks a smaller
    /// question than comparing eight pairs at once, and a preference the user showed in several
    /// pairs is then said several times, which the merge uses to drop a misreading.
    case notes
    /// One prompt per response of each example pair (`PromptBuilder.describeTurns`): the
    /// summarizer describes the user who would prefer the preferred response, and the
    /// descriptions are kept by their evidence: how much likelier the summarizer finds each after
    /// the preferred responses than after the others, summed over the pairs. Likelihoods ask the
    /// model to recognise a preference rather than to put a comparison into words, and what both
    /// responses of a pair share, such as their topic, gains nothing.
    case describe
    /// As `whole`, from the newest few pairs with each response shown by its opening and its close
    /// and its length (`Skim`): about half the prompt, so a refresh costs about half as much.
    case skim

    /// Whether the summarizer writes the whole summary from one prompt of every example (an
    /// adapter trained for one such form can start a run of the other).
    public var writesWholeSummary: Bool { self == .whole || self == .skim }

    /// The adapter label (`LoRAAdapter.labels`) naming the form a summarizer adapter was trained for.
    public static let label = "summary_form"

    /// The form `adapter` was trained for: its label, or `whole` without one (adapters trained
    /// before the label existed, and no adapter at all).
    public init(adapter: LoRAAdapter?) throws(PersonalizationError) {
        guard let value = adapter?.labels[Self.label] else {
            self = .whole
            return
        }
        guard let form = SummaryForm(rawValue: value) else {
            throw .unknownSummaryForm(String(value.prefix(40)))
        }
        self = form
    }
}
