/// Placeholder until the HTTP server lands (issue 5).
public enum HTTPServerModule {}
