// replaced as proxy/ grows
