-- The seeds' question: how many free and paid users, and how much do they play?
select
    users.level,
    count(distinct users.user_id) as users,
    count(songplays.songplay_id) as plays
from sparkify.users
left join sparkify.songplays on songplays.user_id = users.user_id
group by users.level
order by users.level
