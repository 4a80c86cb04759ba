import InferenceRuntime
/// Placeholder until the POPI engine lands (issue 7).
public enum PersonalizationModule {}
