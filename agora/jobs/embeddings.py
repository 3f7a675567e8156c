"""The embedding job: embeds every submission still without a vector (``services.embeddings``)
and places the published ones in their scope's latest themes (``services.themes``)."""


def embed_pending() -> None:
    from agora.services import embeddings
    from agora.services.analysis import themes

    embeddings.embed_pending(then=themes.place_newly_embedded)
