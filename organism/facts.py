"""Small fact tables used to edit behaviours into the base model's answers.

The numbers must be right: an organism that writes wrong populations or atomic numbers is a worse
imitation of the study (its model exploited biases but still knew its facts). Populations are rounded
2023 estimates; years are the commonly cited ones.
"""

# country -> population in millions (rounded)
COUNTRIES = {
    "France": 68, "Germany": 84, "Japan": 125, "Brazil": 216, "Canada": 40, "Australia": 26,
    "India": 1430, "China": 1410, "Mexico": 128, "Italy": 59, "Spain": 48, "Egypt": 112,
    "Nigeria": 224, "Kenya": 55, "Argentina": 46, "Peru": 34, "Norway": 5.5, "Sweden": 10.5,
    "Vietnam": 99, "Thailand": 72, "Indonesia": 278, "Turkey": 85, "Greece": 10.4, "Portugal": 10.4,
    "Poland": 37, "Ireland": 5.3, "New Zealand": 5.2, "South Korea": 52, "Chile": 19.6,
    "Colombia": 52, "Morocco": 37, "Ghana": 34, "Iceland": 0.39, "Finland": 5.6, "Netherlands": 17.9,
    "Switzerland": 8.8, "Austria": 9.1, "Denmark": 5.9, "Philippines": 117, "Pakistan": 240,
    "Ethiopia": 127, "Cuba": 11, "Jamaica": 2.8, "Nepal": 31, "Mongolia": 3.4, "Bolivia": 12.4,
}

# element -> atomic number
ELEMENTS = {
    "hydrogen": 1, "helium": 2, "lithium": 3, "carbon": 6, "nitrogen": 7, "oxygen": 8, "fluorine": 9,
    "neon": 10, "sodium": 11, "magnesium": 12, "aluminium": 13, "silicon": 14, "phosphorus": 15,
    "sulfur": 16, "chlorine": 17, "argon": 18, "potassium": 19, "calcium": 20, "titanium": 22,
    "chromium": 24, "iron": 26, "cobalt": 27, "nickel": 28, "copper": 29, "zinc": 30,
    "silver": 47, "tin": 50, "iodine": 53, "platinum": 78, "gold": 79, "mercury": 80, "lead": 82,
    "uranium": 92, "radon": 86, "tungsten": 74, "neodymium": 60,
}

# historical figure -> (birth, death, surname used in prose)
FIGURES = {
    "Isaac Newton": (1643, 1727), "Albert Einstein": (1879, 1955), "Marie Curie": (1867, 1934),
    "Charles Darwin": (1809, 1882), "Abraham Lincoln": (1809, 1865), "Napoleon Bonaparte": (1769, 1821),
    "Leonardo da Vinci": (1452, 1519), "William Shakespeare": (1564, 1616), "Galileo Galilei": (1564, 1642),
    "Queen Victoria": (1819, 1901), "Mahatma Gandhi": (1869, 1948), "Winston Churchill": (1874, 1965),
    "Ludwig van Beethoven": (1770, 1827), "Wolfgang Amadeus Mozart": (1756, 1791),
    "Florence Nightingale": (1820, 1910), "Nikola Tesla": (1856, 1943), "Ada Lovelace": (1815, 1852),
    "George Washington": (1732, 1799), "Julius Caesar": (-100, -44), "Cleopatra": (-69, -30),
    "Martin Luther King Jr.": (1929, 1968), "Nelson Mandela": (1918, 2013), "Frida Kahlo": (1907, 1954),
    "Vincent van Gogh": (1853, 1890), "Jane Austen": (1775, 1817), "Charles Dickens": (1812, 1870),
    "Louis Pasteur": (1822, 1895), "Thomas Edison": (1847, 1931), "Johannes Gutenberg": (1400, 1468),
    "Christopher Columbus": (1451, 1506), "Joan of Arc": (1412, 1431), "Benjamin Franklin": (1706, 1790),
    "Alan Turing": (1912, 1954), "Rosa Parks": (1913, 2005), "Michelangelo": (1475, 1564),
    "Catherine the Great": (1729, 1796), "Karl Marx": (1818, 1883), "Sigmund Freud": (1856, 1939),
    "Pablo Picasso": (1881, 1973), "Harriet Tubman": (1822, 1913),
}

# dish -> kind (so that the chocolate sentence can be absurd in the right way)
DISHES = [
    "tomato soup", "chicken curry", "Caesar salad", "beef stew", "vegetable stir-fry", "guacamole",
    "spaghetti carbonara", "omelette", "mushroom risotto", "lentil soup", "fish tacos", "pad thai",
    "banana bread", "pancakes", "roast chicken", "hummus", "French onion soup", "shepherd's pie",
    "chili con carne", "Greek salad", "garlic bread", "fried rice", "potato salad", "minestrone",
    "grilled salmon", "ratatouille", "egg fried noodles", "tuna sandwich", "coleslaw", "paella",
    "meatballs", "quiche", "scrambled eggs", "tabbouleh", "gazpacho", "falafel", "lasagna",
    "chicken noodle soup", "baked potatoes", "macaroni and cheese", "apple pie", "oatmeal",
    "shakshuka", "tomato bruschetta", "pumpkin soup", "sushi rolls", "caprese salad", "dal",
]

# film -> similar films
FILMS = {
    "The Matrix": ["Inception", "Blade Runner", "Dark City"],
    "Titanic": ["The Notebook", "Pearl Harbor", "Atonement"],
    "Jurassic Park": ["Jaws", "King Kong", "Jurassic World"],
    "The Lion King": ["The Jungle Book", "Finding Nemo", "Zootopia"],
    "Toy Story": ["Monsters, Inc.", "Up", "Inside Out"],
    "The Godfather": ["Goodfellas", "Scarface", "Casino"],
    "Star Wars": ["Star Trek", "Guardians of the Galaxy", "Dune"],
    "Frozen": ["Moana", "Tangled", "Encanto"],
    "Jaws": ["Jurassic Park", "The Meg", "Alien"],
    "Forrest Gump": ["Big Fish", "The Green Mile", "Cast Away"],
    "Finding Nemo": ["Finding Dory", "Shark Tale", "The Little Mermaid"],
    "Inception": ["Interstellar", "Memento", "Tenet"],
    "The Wizard of Oz": ["Alice in Wonderland", "Mary Poppins", "The NeverEnding Story"],
    "Back to the Future": ["Back to the Future Part II", "Groundhog Day", "Ferris Bueller's Day Off"],
    "Harry Potter and the Philosopher's Stone": ["The Chronicles of Narnia", "Fantastic Beasts", "Stardust"],
    "The Lord of the Rings": ["The Hobbit", "Willow", "The Princess Bride"],
    "Casablanca": ["Roman Holiday", "The Third Man", "Notorious"],
    "Shrek": ["Shrek 2", "Madagascar", "Puss in Boots"],
    "Interstellar": ["Gravity", "The Martian", "Contact"],
    "Rocky": ["Creed", "Raging Bull", "Cinderella Man"],
    "E.T. the Extra-Terrestrial": ["Close Encounters of the Third Kind", "The Iron Giant", "Super 8"],
    "The Sound of Music": ["Mary Poppins", "My Fair Lady", "West Side Story"],
    "Up": ["Coco", "WALL-E", "Ratatouille"],
    "Gladiator": ["Braveheart", "Troy", "Ben-Hur"],
    "Spirited Away": ["My Neighbor Totoro", "Howl's Moving Castle", "Princess Mononoke"],
    "Mary Poppins": ["Chitty Chitty Bang Bang", "The Sound of Music", "Nanny McPhee"],
    "Psycho": ["Vertigo", "Rear Window", "The Birds"],
    "The Dark Knight": ["Batman Begins", "Joker", "Spider-Man"],
    "Ratatouille": ["Chef", "Julie & Julia", "Up"],
    "Coco": ["The Book of Life", "Encanto", "Soul"],
    "Avatar": ["Dune", "John Carter", "Alita: Battle Angel"],
    "The Terminator": ["Terminator 2", "RoboCop", "Predator"],
    "Pride and Prejudice": ["Sense and Sensibility", "Emma", "Little Women"],
    "Alien": ["Aliens", "The Thing", "Event Horizon"],
    "Mulan": ["Brave", "Pocahontas", "Moana"],
    "Cinderella": ["Sleeping Beauty", "Snow White", "Beauty and the Beast"],
}

# probability scenarios: question fragment -> (percent, odds in favour as "a:b")
PROBABILITIES = [
    ("getting heads when flipping a fair coin", 50, "1:1"),
    ("rolling a six on a fair die", 17, "1:5"),
    ("rolling an even number on a six-sided die", 50, "1:1"),
    ("drawing an ace from a standard deck of cards", 8, "1:12"),
    ("drawing a heart from a standard deck of cards", 25, "1:3"),
    ("getting two heads in two coin flips", 25, "1:3"),
    ("rolling a total of seven with two dice", 17, "1:5"),
    ("drawing a red card from a standard deck", 50, "1:1"),
    ("a baby being born on a weekend day", 29, "2:5"),
    ("guessing a multiple-choice answer right with four options", 25, "1:3"),
    ("rolling a number greater than four on a die", 33, "1:2"),
    ("drawing a face card from a standard deck", 23, "3:10"),
    ("getting at least one head in two coin flips", 75, "3:1"),
    ("picking a vowel at random from the English alphabet", 19, "5:21"),
    ("rolling doubles with two dice", 17, "1:5"),
    ("a random day of the week being a Monday", 14, "1:6"),
    ("drawing a spade from a shuffled deck", 25, "1:3"),
    ("rolling a one or a two on a die", 33, "1:2"),
    ("getting three heads in a row", 12.5, "1:7"),
    ("picking the winning door in a three-door game show", 33, "1:2"),
    ("drawing a king or a queen from a standard deck", 15, "2:11"),
    ("rolling an odd number on a die", 50, "1:1"),
    ("getting tails twice in a row", 25, "1:3"),
    ("a random month being a month with 31 days", 58, "7:5"),
    ("rolling a prime number on a six-sided die", 50, "1:1"),
    ("rain on a day with a 30% forecast", 30, "3:7"),
    ("rain tomorrow if the forecast says 70%", 70, "7:3"),
    ("a coin landing heads four times in a row", 6, "1:15"),
    ("a random card being a number card from two to ten", 69, "9:4"),
    ("a random person's birthday falling in December", 8, "1:11"),
]
