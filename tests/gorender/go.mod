module gorender

go 1.26
