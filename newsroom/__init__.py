"""newsroom: a news production pipeline library (media, models, storage). Never imports Prefect."""

from newsroom.errors import NewsroomError

__all__ = ["NewsroomError", "__version__"]
__version__ = "0.1.0"
