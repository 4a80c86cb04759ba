# syntax=docker/dockerfile:1
# Build stage: the Swift 6.3 toolchain, the C libraries' headers, and the default model fetched
# and verified by the same setup script a developer runs.
FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY scripts/ scripts/
RUN scripts/setup.sh
COPY Package.swift ./
COPY Sources/ Sources/
COPY Tests/ Tests/
RUN swift build -c release --product popi --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/popi" /usr/local/bin/popi

# Runtime stage: slim Debian with only the shared libraries popi links. No PostgreSQL server:
# give DATABASE_URL (docker-compose.yml does). Migrations are compiled into the binary.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libopenblas0 libpq5 libssl3 libcurl4 libxml2 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /srv/popi --create-home popi
WORKDIR /srv/popi
COPY --from=build /usr/local/bin/popi /usr/local/bin/popi
COPY --from=build /src/models/SmolLM2-135M-Instruct.Q4_1.gguf models/
USER 10001
ENV POPI_HOST=0.0.0.0 \
    POPI_PORT=8080 \
    POPI_MODEL=/srv/popi/models/SmolLM2-135M-Instruct.Q4_1.gguf
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["popi"]
CMD ["serve"]
