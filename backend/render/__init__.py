"""Terraform rendering and pull request text for one database request (pure, no I/O)."""

from backend.render.pull_request import pull_request_text
from backend.render.terraform import RenderedFile, render_database

__all__ = ["RenderedFile", "pull_request_text", "render_database"]
