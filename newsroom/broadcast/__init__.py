"""The broadcast segment: anchor intro + highlight edit, lower thirds, subtitles, mastered loudness."""
