-- Sales per track, ranked: macros/sales_ranking.sql; grain and tests in top_tracks.yml.
{{ sales_ranking('track_id', 'dim_track', [
    'track_name', 'album_id', 'album_title', 'artist_id', 'artist_name', 'genre_id', 'genre_name'
]) }}
