insert into users (user_id, first_name, last_name, gender, level)
select distinct
    userId,
    firstName,
    lastName,
    gender,
    level
from staging_events
where userId is not null;
