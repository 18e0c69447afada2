-- The seeds' PostgreSQL schema (sql_queries.py of the Sparkify "data modeling with
-- Postgres" project): primary keys, and ON CONFLICT in the inserts.
drop table if exists songplays;
drop table if exists users;
drop table if exists songs;
drop table if exists artists;
drop table if exists "time";

create table songplays (
    songplay_id serial primary key,
    start_time  timestamp not null,
    user_id     int not null,
    level       varchar,
    song_id     varchar,
    artist_id   varchar,
    session_id  int,
    location    varchar,
    user_agent  varchar
);

create table users (
    user_id     int primary key,
    first_name  varchar,
    last_name   varchar,
    gender      varchar,
    level       varchar
);

create table songs (
    song_id     varchar primary key,
    title       varchar not null,
    artist_id   varchar,
    year        int,
    duration    float not null
);

create table artists (
    artist_id   varchar primary key,
    name        varchar not null,
    location    varchar,
    latitude    float,
    longitude   float
);

create table "time" (
    start_time  timestamp primary key,
    hour        int,
    day         int,
    week        int,
    month       int,
    year        int,
    weekday     int
);
