/// A training run that cannot start, resume or save. Descriptions are safe to show a user.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The output or its checkpoints exist and the run was not asked to resume.
    case outputExists(path: String)
    /// A checkpoint of another run (settings, data or model) is in the way.
    case checkpointMismatch(folder: String, reason: String)
    case badCheckpoint(path: String, reason: String)
    /// Writing a checkpoint failed (a full disk, say); the previous checkpoint is intact.
    case checkpointFailed(folder: String, reason: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .outputExists(let path):
            return "\(path) already exists; pass --resume to continue that run, or choose another output"
        case .checkpointMismatch(let folder, let reason):
            return "the checkpoints in \(folder) belong to another run (\(reason)); choose another output"
        case .badCheckpoint(let path, let reason):
            return "the checkpoint \(path) cannot be read: \(reason)"
        case .checkpointFailed(let folder, let reason):
            return "could not write a checkpoint in \(folder) (\(reason)); the previous checkpoint is kept"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
