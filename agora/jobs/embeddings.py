"""The embedding job: embeds every submission still without a vector (``services.embeddings``)."""


def embed_pending() -> None:
    from agora.services import embeddings

    embeddings.embed_pending()
