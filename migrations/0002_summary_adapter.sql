-- Which LoRA adapter wrote a summary: the SHA-256 (hex) of the adapter file the refresh worker's
-- summarizer ran with, NULL for the base model alone (and for edited summaries). With
-- prompt_version and model_id, it says exactly what produced each version.
ALTER TABLE summary_versions
    ADD COLUMN adapter_sha256 text CHECK (adapter_sha256 ~ '^[0-9a-f]{64}$');
