-- Sales per genre, ranked: macros/sales_ranking.sql; grain and tests in top_genres.yml.
{{ sales_ranking('genre_id', 'dim_genre', ['genre_name']) }}
