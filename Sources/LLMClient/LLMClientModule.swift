/// Placeholder until the upstream client lands (issue 10).
public enum LLMClientModule {}
