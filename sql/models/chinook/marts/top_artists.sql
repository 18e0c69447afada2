-- Sales per artist, ranked: macros/sales_ranking.sql; grain and tests in top_artists.yml.
{{ sales_ranking('artist_id', 'dim_artist', ['artist_name']) }}
