"""The people's pages: server-rendered, Indonesian first, every asset served by Bukti itself
(see api.web.site for how they are put together)."""
