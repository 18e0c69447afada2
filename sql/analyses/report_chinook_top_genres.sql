-- The 10 genres with the most revenue (Chinook report).
select
    coalesce(genre_name, '(no genre)') as genre_name,
    revenue,
    units
from chinook.top_genres
where revenue_rank <= 10
order by revenue_rank
