import ArgumentParser

/// `popi train`: POPI's training of the summarizer (GRPO) and of the generator (DPO).
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train LoRA adapters on POPI's objective.",
        subcommands: [TrainSummarizer.self])
}
