package main

// Film is one of the films members may recommend. Its page on movieclub
// is what a share card links to.
type Film struct {
	Slug  string
	Title string
	Year  int
	About string
}

// films is movieclub's whole catalogue: silent-era and early classics.
var films = []Film{
	{"the-general", "The General", 1926, "Buster Keaton chases a stolen locomotive through the Civil War, stunts and all."},
	{"sherlock-jr", "Sherlock Jr.", 1924, "A projectionist dreams himself into the film he is showing."},
	{"metropolis", "Metropolis", 1927, "A city of towers above, workers below, and a robot between them."},
	{"nosferatu", "Nosferatu", 1922, "The first, and still the eeriest, vampire on film."},
	{"the-kid", "The Kid", 1921, "Chaplin's tramp raises a foundling, until the authorities come."},
	{"his-girl-friday", "His Girl Friday", 1940, "An editor, his ex-wife and star reporter, and the fastest dialogue ever shot."},
}

// filmBySlug returns the film with the slug, if there is one.
func filmBySlug(slug string) (Film, bool) {
	for _, f := range films {
		if f.Slug == slug {
			return f, true
		}
	}
	return Film{}, false
}
