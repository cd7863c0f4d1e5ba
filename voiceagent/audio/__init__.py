"""Audio plumbing: PCM16 frames, G.711 codecs, resampling and WAV files."""
