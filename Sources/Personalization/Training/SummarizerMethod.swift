/// How `popi train summarizer` turns POPI's reward into a gradient.
public enum SummarizerMethod: String, Codable, Sendable, CaseIterable {
    /// The paper's GRPO: every sample is pushed by its reward minus its group's mean.
    case grpo
    /// Best-of-N distillation (rejection-sampling fine-tuning): each user's candidates are the
    /// group's samples and, when the dataset has one, the user's written persona; the candidate
    /// with the highest r(s) on the user's held-out pairs is the target of a supervised step,
    /// if it beats no summary at all. It teaches zero-shot sampling what best-of-N selection
    /// finds, and the persona gives it a candidate the untrained model rarely samples.
    case distill
    /// Supervised fine-tuning on the dataset's persona sentences: each user's persona is the
    /// target of a supervised step, with no sampling and no scoring (every user needs one). It
    /// shows the model many users' written descriptions cheaply, where distillation's targets are
    /// few; r(s) judges the result only on the set-aside users.
    case supervised
    /// Supervised fine-tuning of the note form (`SummaryForm.notes`): `groupSize` of each user's
    /// pairs whose note the dataset shows (`TrainingUser.notes`), each in its own note prompt
    /// with its note as the target, and the same pair with its responses swapped with the other
    /// note, where there is one. Nothing is sampled or scored; r(s) judges the merged notes on
    /// the set-aside users.
    case notes
    /// Supervised fine-tuning of the description form (`SummaryForm.describe`): for `groupSize` of
    /// each user's pairs whose note the dataset shows, the description prompt of the preferred
    /// response has the note as its target, and that of the other response the other note, where
    /// there is one. Each response is described on its own, so the model learns what a response
    /// shows, and the contrast at inference compares them.
    case describe

    /// The form the trained adapter writes summaries in.
    public var form: SummaryForm {
        switch self {
        case .notes: .notes
        case .describe: .describe
        case .grpo, .distill, .supervised: .whole
        }
    }

    /// Whether the targets are the notes the dataset's pairs show (`TrainingUser.notes`).
    public var learnsNotes: Bool { self == .notes || self == .describe }
}
