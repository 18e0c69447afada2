-- Sales per album, ranked: macros/sales_ranking.sql; grain and tests in top_albums.yml.
{{ sales_ranking('album_id', 'dim_album', ['album_title', 'artist_id', 'artist_name']) }}
