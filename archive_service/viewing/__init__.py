"""Supervised viewing (监督查阅): documents shown as watermarked page images, never as files."""

from archive_service.viewing.render import (
    RENDERABLE,
    RenderError,
    Watermark,
    page_count,
    prepare,
    render_page,
)

__all__ = ["RENDERABLE", "RenderError", "Watermark", "page_count", "prepare", "render_page"]
