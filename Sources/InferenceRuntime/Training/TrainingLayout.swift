/// Where a training batch's tokens sit in the pass's activations: one row per token, each group's
/// prompt rows followed by its continuations' rows; which rows need logits and which tokens they
/// predict; and the attention work split into tasks.
struct TrainingLayout {
    /// Consecutive rows of one sequence part: a prompt, or a continuation whose keys extend its
    /// group's prompt.
    struct Segment {
        let firstRow: Int
        let count: Int
        /// Position of the first row in its sequence.
        let firstPosition: Int
        /// The prompt segment a continuation attends to.
        let parent: Int?
    }

    /// Query rows `rows` (relative to the segment) of one segment, for the query heads that share
    /// KV head `kvHead`.
    struct AttentionTask {
        let segment: Int
        let rows: Range<Int>
        let kvHead: Int
    }

    /// A token a head row predicts, and its index among the batch's predicted tokens.
    struct Target {
        let token: Int32
        let index: Int
    }

    let tokens: [Int32]
    let positions: [Int]
    let segments: [Segment]
    let tasks: [AttentionTask]
    /// Rows whose next-token logits are needed, and what each predicts (a prompt's last row
    /// predicts the first token of every continuation of its group).
    let headRows: [Int]
    let targets: [[Target]]
    let predictedCount: Int
    /// Most keys one query row attends to.
    let maxKeys: Int

    var rowCount: Int { tokens.count }

    init(_ batch: TrainingBatch, kvHeads: Int, queryBlock: Int) {
        var tokens: [Int32] = [], positions: [Int] = []
        var segments: [Segment] = []
        var headRows: [Int] = [], targets: [[Target]] = []
        var predicted = 0
        var maxKeys = 0
        for group in batch.groups {
            let prompt = segments.count
            segments.append(Segment(firstRow: tokens.count, count: group.prompt.count, firstPosition: 0, parent: nil))
            tokens += group.prompt
            positions += 0..<group.prompt.count
            headRows.append(tokens.count - 1)
            targets.append([])
            let promptTargets = targets.count - 1
            for continuation in group.continuations {
                let first = tokens.count
                segments.append(Segment(firstRow: first, count: continuation.count, firstPosition: group.prompt.count,
                                        parent: prompt))
                tokens += continuation
                positions += group.prompt.count..<(group.prompt.count + continuation.count)
                targets[promptTargets].append(Target(token: continuation[0], index: predicted))
                for k in 1..<continuation.count {
                    headRows.append(first + k - 1)
                    targets.append([Target(token: continuation[k], index: predicted + k)])
                }
                predicted += continuation.count
                maxKeys = max(maxKeys, group.prompt.count + continuation.count)
            }
        }
        var tasks: [AttentionTask] = []
        for (index, segment) in segments.enumerated() {
            for start in stride(from: 0, to: segment.count, by: queryBlock) {
                for kvHead in 0..<kvHeads {
                    tasks.append(AttentionTask(segment: index, rows: start..<min(segment.count, start + queryBlock), kvHead: kvHead))
                }
            }
        }
        self.tokens = tokens
        self.positions = positions
        self.segments = segments
        self.tasks = tasks
        self.headRows = headRows
        self.targets = targets
        predictedCount = predicted
        self.maxKeys = maxKeys
    }
}
